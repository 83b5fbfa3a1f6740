"""safezone: epidemic response platform (health declarations, exposure notification, campaign)."""

__version__ = "0.1.0"

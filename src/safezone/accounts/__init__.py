"""Staff accounts: users with a role scoped to a unit subtree, API tokens, the audit log."""

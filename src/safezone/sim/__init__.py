"""Population simulator and adoption planner, built on Covasim (extra ``safezone[sim]``).

Turns adoption per commune into notified contacts and infections averted, and tells the
campaign where one more volunteer-day averts the most. Imports ``safezone.en`` (the risk
scoring a phone runs) and never ``safezone.web``.
"""

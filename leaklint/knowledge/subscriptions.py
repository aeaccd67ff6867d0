"""Subscription APIs (LL3). Filled by the rule family that uses it; see ../shared/API-NOTES.md."""
SUBSCRIPTIONS: tuple = ()

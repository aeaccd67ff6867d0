"""Resources and how they are released (LL2). Filled by the rule family that uses it; see ../shared/API-NOTES.md."""
RESOURCES: tuple = ()

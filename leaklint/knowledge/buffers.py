"""Buffer, queue and prefetch bounds (LL4). Filled by the rule family that uses it; see ../shared/API-NOTES.md."""
BUFFERS: tuple = ()

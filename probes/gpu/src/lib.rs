//! GPU probe: reads NVML into a plain snapshot. (Work in progress for issue 3.)

//! A fake `libnvidia-ml` for tests. (Work in progress for issue 3.)

"""The `bgmatch` command line."""

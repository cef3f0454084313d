"""The `speedup` command line: one subcommand per file in `commands/`, the shared helpers
(one-line usage errors, progress bars, the track options) in `ui.py`. It holds no logic the
packages below it lack: it parses, calls them, and prints."""

"""CLI subcommands, one module each: `add_parser(subparsers)` registers it with a `func(args) -> int`."""

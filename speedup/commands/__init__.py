"""One module per `speedup` subcommand: HELP, add_arguments(parser), run(args)."""

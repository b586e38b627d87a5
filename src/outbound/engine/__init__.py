"""The dialing engine: dispatcher, result handling, sweepers, pacing."""

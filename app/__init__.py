"""The twitchcause dashboard (Dash): shows what ``model`` computes; never imports pgmpy."""

// Builds the web console into dist/console (filled in by the console module).

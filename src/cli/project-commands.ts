// Project commands (init, deploy, undeploy, get-metadata, watch): registered by the projects module.
import type { Command } from 'commander';

export function registerProjectCommands(program: Command): void {
  void program; // filled in by the project module
}

// The connection a project command talks to: --apihost/--auth when given (validated), else the credentials file.
import { ApiClient } from '../api-client.js';
import { currentConnection, listConnections, type Connection } from '../credentials.js';
import { CliError } from '../errors.js';

export interface ConnectionFlags {
  apihost?: string;
  auth?: string;
}

export async function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env, targetNamespace?: string): Promise<Connection> {
  if (!!flags.apihost !== !!flags.auth) throw new CliError('the --auth and --apihost flags must be specified together');
  if (flags.apihost && flags.auth) {
    // As the deployer: a bare host name means https.
    const apihost = (flags.apihost.includes(':') ? flags.apihost : `https://${flags.apihost}`).replace(/\/+$/, '');
    const probe = new ApiClient({ apihost, namespace: '_', auth: flags.auth });
    const res = await probe.request<unknown>('GET', '/api/v1/namespaces');
    const list = res.body;
    if (!Array.isArray(list) || list.length !== 1 || typeof list[0] !== 'string') throw new CliError('unexpected response when validating apihost and auth');
    return { apihost, namespace: list[0], auth: flags.auth };
  }
  const current = currentConnection(env);
  if (targetNamespace && targetNamespace !== current.namespace) {
    // project.yml names another namespace: use its stored credentials when we have them.
    const stored = listConnections(env).filter((c) => c.namespace === targetNamespace);
    const sameHost = stored.find((c) => c.apihost === current.apihost) ?? stored[0];
    if (!sameHost) {
      throw new CliError(`the project's targetNamespace '${targetNamespace}' is not in the credentials file (use 'flare connect --apihost URL --auth KEY' to add it)`);
    }
    return sameHost;
  }
  return current;
}

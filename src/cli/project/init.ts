// `flare init <path>`: writes a sample project (doctl-cli.md §1.3).
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from '../errors.js';

type Lang = 'javascript' | 'typescript' | 'python' | 'go' | 'php';

const KEYWORDS: Record<string, Lang> = {
  javascript: 'javascript',
  js: 'javascript',
  typescript: 'typescript',
  ts: 'typescript',
  python: 'python',
  py: 'python',
  go: 'go',
  golang: 'go',
  php: 'php',
};

function projectYml(runtime: string): string {
  return `parameters: {}
environment: {}
packages:
    - name: sample
      shared: false
      environment: {}
      parameters: {}
      annotations: {}
      functions:
        - name: hello
          binary: false
          main: ""
          runtime: ${runtime}
          web: true
          webSecure: false
          parameters: {}
          environment: {}
          annotations: {}
          limits: {}
`;
}

const JS_HELLO = `function main(args) {
    let name = args.name || 'stranger'
    let greeting = 'Hello ' + name + '!'
    console.log(greeting)
    return {"body": greeting}
}

exports.main = main
`;

const TS_HELLO = `export function main(args: {}): {} {
    const name: string = args['name'] || 'stranger'
    const greeting = \`Hello \${name}!\`
    console.log(greeting)
    return { body: greeting }
}
`;

const PY_HELLO = `def main(args):
    name = args.get("name", "stranger")
    greeting = "Hello " + name + "!"
    print(greeting)
    return {"body": greeting}
`;

const GO_HELLO = `package main

import "fmt"

func Main(args map[string]interface{}) map[string]interface{} {
	name, ok := args["name"].(string)
	if !ok {
		name = "stranger"
	}
	greeting := "Hello " + name + "!"
	fmt.Println(greeting)
	return map[string]interface{}{"body": greeting}
}
`;

const PHP_HELLO = `<?php
function main(array $args): array
{
    $name = $args["name"] ?? "stranger";
    $greeting = "Hello $name!";
    echo $greeting . "\n";
    return ["body" => $greeting];
}
`;

const RUNTIME_FOR: Record<Lang, string> = {
  javascript: 'nodejs:default',
  typescript: 'nodejs:default',
  python: 'python:default',
  go: 'go:default',
  php: 'php:default',
};

export function initProject(path: string, language: string, overwrite: boolean): string {
  const lang = KEYWORDS[language.toLowerCase()];
  if (!lang) throw new CliError(`${language} is not a supported language`);
  if (existsSync(path)) {
    if (!overwrite) throw new CliError(`${path} already exists; use '--overwrite' to replace`);
    rmSync(path, { recursive: true, force: true });
  }
  const fnDir = join(path, 'packages', 'sample', 'hello');
  mkdirSync(fnDir, { recursive: true });
  const ignores = ['.nimbella', '.deployed', '__deployer__.zip', '__pycache__/', 'node_modules', 'package-lock.json', '.DS_Store'];
  if (lang === 'typescript') ignores.push('lib/');
  writeFileSync(join(path, '.gitignore'), ignores.join('\n') + '\n');
  writeFileSync(join(path, 'project.yml'), projectYml(RUNTIME_FOR[lang]));
  if (lang === 'javascript') writeFileSync(join(fnDir, 'hello.js'), JS_HELLO);
  else if (lang === 'python') writeFileSync(join(fnDir, 'hello.py'), PY_HELLO);
  else if (lang === 'go') writeFileSync(join(fnDir, 'hello.go'), GO_HELLO);
  else if (lang === 'php') writeFileSync(join(fnDir, 'hello.php'), PHP_HELLO);
  else {
    mkdirSync(join(fnDir, 'src'), { recursive: true });
    writeFileSync(join(fnDir, 'src', 'hello.ts'), TS_HELLO);
    writeFileSync(
      join(fnDir, 'package.json'),
      JSON.stringify({ name: 'hello', version: '1.0.0', main: 'lib/hello.js', scripts: { build: 'tsc -b' }, devDependencies: { typescript: '^5' } }, null, 2) + '\n',
    );
    writeFileSync(
      join(fnDir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'es2019', module: 'commonjs', outDir: 'lib', rootDir: 'src', strict: false, esModuleInterop: true } }, null, 2) + '\n',
    );
    writeFileSync(join(fnDir, '.include'), 'lib\n');
  }
  return `A local functions project directory '${path}' was created for you.\nYou may deploy it by running the command shown on the next line:\n  flare deploy ${path}\n`;
}

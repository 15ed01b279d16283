<?php
// Flare's php runner: hosts one action in its own process (started as php8.2 -d memory_limit=-1 ...).
// Requests arrive as JSON lines on fd 3, answers leave as "<status> <json body>" lines on fd 4; stdout/stderr are the
// function's logs, closed per activation by a sentinel on each (the server accepts a sentinel glued to a partial
// line). An exception thrown by main becomes {"error": message} (application error), as the Python runner does.
declare(strict_types=0);

const FLARE_SENTINEL = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX\n";
$flareIn = fopen('php://fd/3', 'rb');
$flareOut = fopen('php://fd/4', 'wb');
$flareHandler = null;

// PHP's own fatal-error output goes to stderr (the logs), never into the reply pipe.
ini_set('display_errors', 'stderr');
ini_set('log_errors', '0');
error_reporting(E_ALL);

function flare_reply(int $status, $body): void
{
    global $flareOut;
    $text = json_encode($body, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION | JSON_INVALID_UTF8_SUBSTITUTE);
    if ($text === false) {
        $status = 502;
        $text = json_encode(['error' => 'The action did not return a valid JSON value: ' . json_last_error_msg()]);
    }
    fwrite($flareOut, $status . ' ' . $text . "\n");
}

function flare_end_of_activation(): void
{
    fflush(STDOUT);
    fwrite(STDOUT, FLARE_SENTINEL);
    fwrite(STDERR, FLARE_SENTINEL);
}

/** DigitalOcean's context object for main(array $event, $context). */
final class FlareContext
{
    public $activationId;
    public $apiHost;
    public $apiKey;
    public $deadline;
    public $functionName;
    public $functionVersion;
    public $namespace;
    public $requestId;

    public function __construct(array $env)
    {
        $this->activationId = $env['__OW_ACTIVATION_ID'] ?? null;
        $this->apiHost = getenv('__OW_API_HOST') ?: null;
        $this->apiKey = $env['__OW_API_KEY'] ?? null;
        $this->deadline = (int)($env['__OW_DEADLINE'] ?? 0);
        $this->functionName = $env['__OW_ACTION_NAME'] ?? null;
        $this->functionVersion = $env['__OW_ACTION_VERSION'] ?? null;
        $this->namespace = $env['__OW_NAMESPACE'] ?? null;
        $this->requestId = $env['__OW_TRANSACTION_ID'] ?? null;
    }

    public function getRemainingTimeInMillis(): int
    {
        return max(0, $this->deadline - (int)floor(microtime(true) * 1000));
    }
}

function flare_setenv(string $k, $v): void
{
    putenv($k . '=' . $v);
    $_ENV[$k] = (string)$v;
    $_SERVER[$k] = (string)$v;
}

function flare_init(array $msg): void
{
    global $flareHandler;
    if ($flareHandler !== null) {
        flare_reply(403, ['error' => 'Cannot initialize the action more than once.']);
        return;
    }
    foreach (($msg['env'] ?? []) as $k => $v) flare_setenv((string)$k, is_scalar($v) ? (string)$v : json_encode($v));
    $main = ($msg['main'] ?? '') !== '' ? $msg['main'] : 'main';
    $file = $msg['file'] ?? '';
    try {
        if ($file === '' || !is_file($file)) {
            throw new Exception($msg['binary'] ?? false ? 'Zip file does not include mandatory files (index.php).' : 'Missing main/no code to execute.');
        }
        $base = dirname($file);
        chdir($base);
        if (is_file($base . '/vendor/autoload.php')) require_once $base . '/vendor/autoload.php';
        require_once $file;
        if (!function_exists($main)) throw new Exception("Action entrypoint '$main' is not a function.");
        $ref = new ReflectionFunction($main);
        $flareHandler = [$main, $ref->getNumberOfParameters() >= 2];
        flare_reply(200, ['OK' => true]);
    } catch (Throwable $e) {
        fwrite(STDERR, (string)$e . "\n");
        flare_end_of_activation();
        flare_reply(502, ['error' => 'Initialization has failed due to: ' . get_class($e) . ': ' . $e->getMessage()]);
    }
}

function flare_run(array $msg): void
{
    global $flareHandler;
    if ($flareHandler === null) {
        flare_end_of_activation();
        flare_reply(403, ['error' => 'Missing main/no code to execute.']);
        return;
    }
    $env = $msg['env'] ?? [];
    foreach ($env as $k => $v) flare_setenv((string)$k, (string)$v);
    if (!array_key_exists('__OW_API_KEY', $env)) {
        putenv('__OW_API_KEY');
        unset($_ENV['__OW_API_KEY'], $_SERVER['__OW_API_KEY']);
    }
    [$fn, $wantsContext] = $flareHandler;
    $args = $msg['value'] ?? [];
    if (!is_array($args)) $args = [];
    try {
        $res = $wantsContext ? $fn($args, new FlareContext($env)) : $fn($args);
    } catch (Throwable $e) {
        fwrite(STDERR, (string)$e . "\n");
        $res = ['error' => $e->getMessage()];
    }
    flare_end_of_activation();
    if ($res === null) $res = [];
    if (is_object($res)) $res = json_decode(json_encode($res), true) ?? [];
    if (!is_array($res)) {
        flare_reply(502, ['error' => 'The action did not return an array.']);
        return;
    }
    // An empty PHP array is {} (OpenWhisk's PHP runtime answers an object).
    flare_reply(200, $res === [] ? new stdClass() : $res);
}

fwrite($flareOut, "0 {}\n"); // booted
while (($line = fgets($flareIn)) !== false) {
    $line = trim($line);
    if ($line === '') continue;
    $m = json_decode($line, true);
    if (!is_array($m)) continue;
    if (($m['op'] ?? '') === 'init') flare_init($m);
    else flare_run($m);
}

<?php
// S5 in its own stack: PHP + phpredis, served by PHP's built-in server.
//   POST /api/draw?campaign=C&user=U   a prize draw with a fixed stock
//   GET  /health
// MODE=naive is the incident's code against Redis (ZCARD, compare, ZADD: not atomic);
// MODE=exactly is one TRANSFER against exactly (its id: once per user; the stock
// account's MIN 0: never oversold). REDIS_PORT and EXACTLY_PORT name the servers;
// STOCK is the number of prizes (default 5).

const STOCK_DEFAULT = 5;
// What the incident's code did between the count and the add (the prize record, a log
// line); the race exists without it, this only makes a load test hit it reliably.
const WORK_US = 2000;

function json_reply(int $status, array $body): void {
  http_response_code($status);
  header('Content-Type: application/json');
  echo json_encode($body);
}

function connect(string $port_variable): Redis {
  $r = new Redis();
  // One persistent connection per worker and server, as PHP deployments keep them.
  $r->pconnect('127.0.0.1', (int)getenv($port_variable), 5.0);
  return $r;
}

// An exactly reply (RESP2: a flat field/value array) as an associative array.
function fields(array $reply): array {
  $out = [];
  for ($i = 0; $i + 1 < count($reply); $i += 2) {
    $out[$reply[$i]] = $reply[$i + 1];
  }
  return $out;
}

function exactly_call(Redis $ex, string ...$args): array {
  $reply = $ex->rawCommand(...$args);
  if (!is_array($reply)) {
    throw new RuntimeException('exactly: ' . ($ex->getLastError() ?? 'no reply'));
  }
  return fields($reply);
}

function draw_naive(string $campaign, string $user, int $stock): void {
  $r = connect('REDIS_PORT');
  $key = "s5php:winners:$campaign";
  if ($r->zScore($key, $user) !== false) {
    json_reply(409, ['won' => false, 'reason' => 'already won']);
    return;
  }
  // The incident's code: count, compare, then add (two round trips, not atomic).
  if ($r->zCard($key) >= $stock) {
    json_reply(409, ['won' => false, 'reason' => 'out of stock']);
    return;
  }
  usleep(WORK_US);
  $r->zAdd($key, 1, $user);
  json_reply(200, ['won' => true]);
}

function draw_exactly(string $campaign, string $user, int $stock): void {
  $ex = connect('EXACTLY_PORT');
  $stock_account = "s5php:stock:$campaign";
  // Idempotent set-up, safe to repeat from every request: the accounts, and the stock
  // funded once (the funding transfer's id makes it happen once).
  exactly_call($ex, 'ACCOUNT', 's5php:prizes', 'MIN', '-inf');
  exactly_call($ex, 'ACCOUNT', $stock_account, 'MIN', '0');
  exactly_call($ex, 'ACCOUNT', "s5php:won:$campaign");
  exactly_call($ex, 'TRANSFER', "s5php:fund:$campaign", 's5php:prizes', $stock_account,
               (string)$stock);
  // The draw: once per user (the id), never past the stock (MIN 0).
  $r = exactly_call($ex, 'TRANSFER', "s5php:draw:$campaign:$user", $stock_account,
                    "s5php:won:$campaign", '1');
  if ($r['result'] === 'ok') {
    json_reply(200, ['won' => true]);
    return;
  }
  $reasons = ['again' => 'already drawn', 'insufficient' => 'out of stock'];
  json_reply(409, ['won' => false, 'reason' => $reasons[$r['result']] ?? $r['result']]);
}

$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
if ($path === '/health') {
  echo 'ok';
  return;
}
if ($path === '/api/draw' && $_SERVER['REQUEST_METHOD'] === 'POST') {
  $stock = (int)(getenv('STOCK') ?: STOCK_DEFAULT);
  $campaign = $_GET['campaign'] ?? '';
  $user = $_GET['user'] ?? '';
  if ($campaign === '' || $user === '') {
    json_reply(400, ['error' => 'campaign and user are required']);
  } elseif (getenv('MODE') === 'exactly') {
    draw_exactly($campaign, $user, $stock);
  } else {
    draw_naive($campaign, $user, $stock);
  }
  return;
}
json_reply(404, ['error' => 'not found']);

<?php
// Runs the transaction scenario of test_transactions.py through phpredis's own
// multi()->exec() and prints what phpredis handed back, as JSON on stdout.
// Usage: php tx_php.php PORT PREFIX (the groups are those of tx_node.js).
// After each EXEC more commands go over the same connection: a reply left on the
// socket by EXEC would show up there as the answer to the wrong command.

[$port, $prefix] = [(int)$argv[1], $argv[2]];
$p = function ($s) use ($prefix) { return "$prefix:$s"; };

$r = new Redis();
$r->connect('127.0.0.1', $port, 5.0);
$r->setOption(Redis::OPT_READ_TIMEOUT, 10);

function run_group(Redis $r, array $group) {
  $r->multi();
  foreach ($group as $args) {
    $r->rawCommand(...$args);
  }
  $replies = $r->exec();
  if (!is_array($replies)) {
    return ['exec_failed' => var_export($replies, true), 'last_error' => $r->getLastError()];
  }
  return array_map(function ($v) { return ['value' => $v]; }, $replies);
}

$out = [];
$r->rawCommand('CLAIM', $p('held'), 'bob');
$out['executed'] = run_group($r, [
  ['ACCOUNT', $p('bank'), 'MIN', '-inf'],
  ['ACCOUNT', $p('a')],
  ['TRANSFER', $p('t1'), $p('bank'), $p('a'), '100'],
  ['CLAIM', $p('k'), 'alice'],
]);
$out['after_executed'] = [['value' => $r->rawCommand('ECHO', 'after-executed')]];
$out['rolled_back'] = run_group($r, [
  ['TRANSFER', $p('t2'), $p('bank'), $p('a'), '5'],
  ['CLAIM', $p('held'), 'alice'],
  ['LOCK', $p('l'), 'alice', 'LEASE', '5000'],
]);
$out['after'] = [
  ['value' => $r->rawCommand('ECHO', 'after')],
  ['value' => $r->rawCommand('CLAIMOF', $p('k'))],
  ['value' => $r->rawCommand('BALANCE', $p('a'))],
];
echo json_encode($out), "\n";

// Take the publish lock, or find who holds it. There is at most one (:PublishLock {id: 'publish'})
// (uniqueness constraint publishlock_id): of two publishes that MERGE it at once, the constraint's
// index lock lets exactly one create it; the other waits for that commit and then finds it.
// Params:  $owner (string token of this publish), $host (string), $pid (int), $run (string path)
// Returns: owner, host, pid, run, started_at (string) of the holder; owner = $owner: taken
MERGE (l:PublishLock {id: 'publish'})
  ON CREATE SET l.owner = $owner, l.host = $host, l.pid = $pid, l.run = $run,
                l.started_at = datetime()
RETURN l.owner AS owner, l.host AS host, l.pid AS pid, l.run AS run,
       toString(l.started_at) AS started_at

// Break the publish lock of a publish that no longer runs: the one held by $owner, or whichever
// is held when $owner is null (`mmkg publish --force-unlock`).
// Params:  $owner (string token, or null for any holder)
// Returns: owner, host, pid, run, started_at (string) of the removed lock; no row when none
MATCH (l:PublishLock {id: 'publish'})
WHERE $owner IS NULL OR l.owner = $owner
WITH l, l.owner AS owner, l.host AS host, l.pid AS pid, l.run AS run,
     toString(l.started_at) AS started_at
DELETE l
RETURN owner, host, pid, run, started_at

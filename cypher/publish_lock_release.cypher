// Release the publish lock if $owner still holds it (a lock broken meanwhile is left alone).
// Params:  $owner (string token of the publish releasing it)
// Returns: released (int: 1 or 0)
OPTIONAL MATCH (l:PublishLock {id: 'publish', owner: $owner})
DELETE l
RETURN count(l) AS released

// The stored listens an ingest with `--on-conflict sum` lowers: the file's sum of plays for a
// (user, track) replaces the stored `plays` (the file is the whole log), so a file that holds only
// the plays since the last ingest takes counts down. `mmkg ingest` says how many, before writing.
// Params:  $rows: list of {src: string (user id), dst: string (track id), plays: integer}
// Returns: lowered (integer), examples (at most 3 [user id, track id, stored plays, new plays])
UNWIND $rows AS row
MATCH (:User {id: row.src})-[r:LISTENED]->(:Track {id: row.dst})
WHERE r.plays > row.plays
RETURN count(*) AS lowered, collect([row.src, row.dst, r.plays, row.plays])[..3] AS examples

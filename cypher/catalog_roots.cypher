// The stored root of each of the given Catalog ids (ids without a Catalog node are left out).
// Used by `mmkg ingest` to refuse a folder that has the name of a catalog ingested from another
// folder that still exists: every track of that catalog would read its media from the new one.
// Params:  $ids: list of Catalog ids (string)
// Returns: id (string), root (string: the absolute folder it was last ingested from)
MATCH (c:Catalog)
WHERE c.id IN $ids
RETURN c.id AS id, c.root AS root

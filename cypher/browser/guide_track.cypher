// Guide slide 2, "A track's multi-modal neighbourhood": the track, its artist, album, genre and
// tags, one feature node per modality, and the knowledge-graph entities one step further (the
// artist's origin and label, the album's decade, the genre's family).
// Browser:  :param trackId => 't1'
// Params:   $trackId (string)
// Returns:  track (title), neighbourhood (paths to its direct neighbours), knowledge (paths to KG
//           entities two hops away); one row, or none for an unknown track
MATCH (t:Track {id: $trackId})
RETURN t.title AS track,
       COLLECT { MATCH p = (t)-[r]->() WHERE NOT type(r) IN ['LISTENED', 'RECOMMENDED'] RETURN p } AS neighbourhood,
       COLLECT { MATCH p = (t)-[:PERFORMED_BY|ON_ALBUM|HAS_GENRE]->(n)-[k]->(:Entity)
                 WHERE NOT n:Track RETURN p } AS knowledge

// How many of the tracks $ids have no vector in the property $property yet (`mmkg publish RUN
// --new-tracks`, before it writes theirs: those get their first vector of the current model).
// Params:  $ids = [string] (track ids), $property (string: the current model's vector slot)
// Returns: n (integer)
UNWIND $ids AS id
MATCH (t:Track {id: id})
WHERE t[$property] IS NULL
RETURN count(t) AS n

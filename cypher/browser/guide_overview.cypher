// Guide slide 1, "What is in the graph": how many nodes carry each label, most first.
// Browser:  (no parameters)
// Params:   none
// Returns:  label (string), nodes (int)
MATCH (n)
UNWIND labels(n) AS label
RETURN label, count(*) AS nodes
ORDER BY nodes DESC, label

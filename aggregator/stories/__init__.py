"""Stories: near-duplicate fingerprints, credit lines, and which story an item joins."""

"""Publishing: dbt builds the star schema and the marts (transform), the blue/green swap and rollback
(publish), the published facts (published_facts) and the analysts' copies (access), units retired from the
lists (retired), and where a published figure came from (lineage)."""

-- The published dimension: the intermediate model the fact store and the roll-ups also read.
select * from {{ ref('int_indicators') }}

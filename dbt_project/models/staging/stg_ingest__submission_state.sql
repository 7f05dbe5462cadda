-- What became of each submission (ingest.submission_state's rule, one home: core/migrations/0024), as the
-- registry stood at the publish run's horizon (macros/at_horizon.sql).
select
    submission_id,
    province_code,
    period_code,
    status,
    is_published,
    is_held,
    is_refused_on_review,
    is_superseded,
    counts,
    state
from {{ at_horizon('submission_state_until') }}

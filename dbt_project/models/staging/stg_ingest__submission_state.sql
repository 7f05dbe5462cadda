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
from {{ source('ingest', 'submission_state') }}

select
    period_code,
    province_code,
    closed_by,
    closed_at,
    reason
from {{ source('meta', 'period_closure') }}

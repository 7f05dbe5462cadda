{# The row rule of the published marts (warehouse/security.py) as a condition, for views, which
   row-level security does not reach. As with the tables' policies: a BI reader sees every row, a
   province analyst their own province's, and anyone else (the pipeline's roles) every row. #}
{% macro visible_to_current_user(province_column) -%}
(
    pg_has_role(current_user, 'antq_bi_reader', 'member')
    or not pg_has_role(current_user, 'antq_province_analyst', 'member')
    or exists (
        select 1 from pg_roles as analyst
        where analyst.rolname = 'antq_analyst_' || {{ province_column }}
          and pg_has_role(current_user, analyst.oid, 'member')
    )
)
{%- endmacro %}

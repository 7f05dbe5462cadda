-- Each gate run's report is kept (expectations/report.py: <data dir>/gx/reports/<schema>-<time>.html); the
-- holds a run made and the publish a run let through name it, so a decision can be read with what it saw.
alter table meta.hold add column gate_report text;
alter table meta.publish_log add column gate_report text;
comment on column meta.hold.gate_report is 'the report of the submission checks'' run that made the hold';
comment on column meta.publish_log.gate_report is 'the report of the build checks'' run that let it publish';

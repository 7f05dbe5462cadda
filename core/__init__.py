"""The foundation every other package may import, and which imports none of them: settings, the database
(connections, the embedded server), schemas, migrations, roles, and how numbers are written."""

# Turns schemas/sql/NNN_name.sql into a C table of {version, name, sql}:
# each file becomes one string literal of \x escapes, so no character of
# the SQL needs quoting rules.
set(body "/* Generated from schemas/sql by cmake/embed_migrations.cmake. */\n")
string(APPEND body "#include \"db/migrations.h\"\n\nconst od_migration_t od_migrations[] = {\n")
set(count 0)
foreach(f ${FILES})
  get_filename_component(name ${f} NAME_WE)
  string(REGEX MATCH "^[0-9]+" ver "${name}")
  file(READ ${f} sql HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" sql "${sql}")
  math(EXPR ver "${ver}")
  string(APPEND body "  {${ver}, \"${name}\", \"${sql}\"},\n")
  math(EXPR count "${count}+1")
endforeach()
string(APPEND body "};\nconst int od_migrations_count = ${count};\n")
file(WRITE ${OUT} "${body}")

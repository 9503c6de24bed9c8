"""What tools know about tables: the administrator's table policy (`policy`), cached schema reads (`lookup`: the table
list, a table's columns or full description, the signed-in user's profile) and checked column lists (`selection`)."""

# fuzz area: appends to the variables of Makefile.am

# control area: appends to the variables of Makefile.am

// libedit's native API (histedit.h): its types and constants only. The library is not linked: CLibEditShim loads
// it with dlopen when the interactive shell starts.
#include <stdio.h>
#include <wchar.h>
#include <histedit.h>

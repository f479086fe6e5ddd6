package runtime

import "sort"

func sortStrings(s []string) { sort.Strings(s) }

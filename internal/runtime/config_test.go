package runtime

import "testing"

func TestValidID(t *testing.T) {
	for _, id := range []string{"a", "abc-1.2_3+x", "0abc", "ABC"} {
		if err := ValidID(id); err != nil {
			t.Errorf("ValidID(%q) = %v", id, err)
		}
	}
	for _, id := range []string{"", "-a", ".a", "../x", "a/b", "a b", "é"} {
		if err := ValidID(id); err == nil {
			t.Errorf("ValidID(%q) accepted", id)
		}
	}
}

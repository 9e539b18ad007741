"""Jupyter's official kernel conformance suite (jupyter_kernel_test) against
qlab-kernel. kernel/cmd/qlab-kernel/conformance's TestConformance runs it with the
kernelspec installed in a temporary JUPYTER_PATH; every sample category is
filled, so a skipped test means a missing feature and fails the Go test."""

import unittest

import jupyter_kernel_test


class QlabKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "qlab"
    language_name = "go"
    file_extension = ".go"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Completion and inspection look at the session's state, as in
        # IPython: import the package the samples complete and inspect.
        reply = cls.kc.execute_interactive('import "strings"', timeout=60)
        assert reply["content"]["status"] == "ok", reply["content"]

    code_hello_world = 'import "fmt"\nfmt.Println("hello, world")'

    code_stderr = 'import (\n\t"fmt"\n\t"os"\n)\nfmt.Fprintln(os.Stderr, "something went wrong")'

    completion_samples = [
        {"text": "strings.HasPre", "matches": ["HasPrefix"]},
        {"text": "appe", "matches": ["append"]},
    ]

    complete_code_samples = ["x := 1", 'fmt.Println("a")', "func f() int { return 1 }", ""]
    incomplete_code_samples = ["func f() {", "x := []int{1,", "if x > 0 {\n\tx++"]
    invalid_code_samples = ["x := )", "func f() }"]

    code_inspect_sample = "strings.HasPrefix"

    code_generate_error = 'panic("boom")'

    # IPython-style help: "name?" pages the inspection of name.
    code_page_something = "strings.HasPrefix?"

    code_execute_result = [
        {"code": "1+2+3", "result": "6"},
        {"code": '"qlab" + "!"', "result": '"qlab!"'},
        {"code": 'import (\n\t"image"\n\t"image/color"\n)\n'
                 "img := image.NewRGBA(image.Rect(0, 0, 8, 8))\n"
                 "img.Set(1, 1, color.White)\nimg",
         "mime": "image/png"},
    ]

    code_display_data = [
        {"code": 'import "github.com/qlab-dev/qlab/qlab/display"\n'
                 '_ = display.Display(display.HTML("<b>bold</b>"))', "mime": "text/html"},
        {"code": 'import "github.com/qlab-dev/qlab/qlab/display"\n'
                 '_ = display.Display(display.SVG(`<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>`))',
         "mime": "image/svg+xml"},
        {"code": 'import "github.com/qlab-dev/qlab/qlab/display"\n'
                 '_ = display.Display(display.Markdown("# title"))', "mime": "text/markdown"},
        {"code": 'import (\n\t"image"\n\t"github.com/qlab-dev/qlab/qlab/display"\n)\n'
                 "d, _ := display.Image(image.NewGray(image.Rect(0, 0, 4, 4)))\n"
                 "_ = display.Display(d)", "mime": "image/png"},
    ]

    code_history_pattern = "1?2*"
    supported_history_operations = ("tail", "range", "search")

    code_clear_output = ('import (\n\t"fmt"\n\t"github.com/qlab-dev/qlab/qlab/display"\n)\n'
                         'fmt.Println("soon gone")\ndisplay.Clear(false)')


if __name__ == "__main__":
    unittest.main()

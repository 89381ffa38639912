// Package apicheck lists the exported API of the module's public packages,
// one line per name, field, method and interface method, in the spirit of
// the Go project's api/*.txt files: api/v1.txt at the module's root is the
// committed listing, and TestAPI fails when the code no longer matches it.
//
// The listing is read from the source, without type-checking: it names
// types as the code writes them and leaves parameter names out (renaming a
// parameter is not an API change). Unexported fields and methods, test
// files, internal packages, commands and examples are left out.
package apicheck

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Module is the module's path.
const Module = "github.com/go-lwa/lwa"

// Packages returns the directories (relative to root, "." for the root) of
// the module's public packages: every directory with non-test Go files
// outside internal/, cmd/, examples/ and testdata/, whose package is not
// main.
func Packages(root string) ([]string, error) {
	var dirs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		base := d.Name()
		if rel != "." && (strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_") ||
			base == "internal" || base == "cmd" || base == "examples" || base == "testdata" || base == "api" ||
			base == "deploy" || base == "docs") {
			return filepath.SkipDir
		}
		pkgs, err := parseDir(path)
		if err != nil {
			return err
		}
		for name := range pkgs {
			if name != "main" {
				dirs = append(dirs, rel)
				break
			}
		}
		return nil
	})
	slices.Sort(dirs)
	return dirs, err
}

// parseDir parses the non-test Go files of dir, by package name.
func parseDir(dir string) (map[string][]*ast.File, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	pkgs := make(map[string][]*ast.File)
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		pkgs[f.Name.Name] = append(pkgs[f.Name.Name], f)
	}
	return pkgs, nil
}

// List returns the sorted listing of every public package under root.
func List(root string) ([]string, error) {
	dirs, err := Packages(root)
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, dir := range dirs {
		pl, err := listPackage(root, dir)
		if err != nil {
			return nil, err
		}
		lines = append(lines, pl...)
	}
	slices.Sort(lines)
	return slices.Compact(lines), nil
}

// listPackage lists one package.
func listPackage(root, dir string) ([]string, error) {
	pkgs, err := parseDir(filepath.Join(root, dir))
	if err != nil {
		return nil, err
	}
	path := Module
	if dir != "." {
		path += "/" + filepath.ToSlash(dir)
	}
	var lines []string
	for name, files := range pkgs {
		if name == "main" {
			continue
		}
		l := lister{prefix: "pkg " + path + ", "}
		for _, f := range files {
			for _, d := range f.Decls {
				l.decl(d)
			}
		}
		lines = append(lines, l.lines...)
	}
	return lines, nil
}

type lister struct {
	prefix string
	lines  []string
}

func (l *lister) add(format string, args ...any) {
	l.lines = append(l.lines, l.prefix+fmt.Sprintf(format, args...))
}

func (l *lister) decl(d ast.Decl) {
	switch d := d.(type) {
	case *ast.FuncDecl:
		if !d.Name.IsExported() {
			return
		}
		if d.Recv == nil {
			l.add("func %s%s", d.Name.Name, signature(d.Type))
			return
		}
		recv := expr(d.Recv.List[0].Type)
		if !ast.IsExported(strings.TrimLeft(baseType(recv), "*")) {
			return
		}
		l.add("method (%s) %s%s", recv, d.Name.Name, signature(d.Type))
	case *ast.GenDecl:
		for _, s := range d.Specs {
			switch s := s.(type) {
			case *ast.TypeSpec:
				l.typeSpec(s)
			case *ast.ValueSpec:
				l.valueSpec(d.Tok, s)
			}
		}
	}
}

// baseType strips type parameters from a receiver type.
func baseType(recv string) string {
	if i := strings.IndexByte(recv, '['); i >= 0 {
		return recv[:i]
	}
	return recv
}

func (l *lister) valueSpec(tok token.Token, s *ast.ValueSpec) {
	for i, n := range s.Names {
		if !n.IsExported() {
			continue
		}
		switch {
		case s.Type != nil:
			l.add("%s %s %s", tok, n.Name, expr(s.Type))
		case tok == token.CONST && i < len(s.Values):
			l.add("const %s = %s", n.Name, expr(s.Values[i]))
		default:
			l.add("%s %s", tok, n.Name) // iota and friends: the name is what matters
		}
	}
}

func (l *lister) typeSpec(s *ast.TypeSpec) {
	if !s.Name.IsExported() {
		return
	}
	name := s.Name.Name
	if s.TypeParams != nil {
		name += fieldList(s.TypeParams, "[", "]", true)
	}
	if s.Assign.IsValid() {
		l.add("type %s = %s", name, expr(s.Type))
		return
	}
	switch t := s.Type.(type) {
	case *ast.StructType:
		l.add("type %s struct", name)
		for _, f := range t.Fields.List {
			typ := expr(f.Type)
			if len(f.Names) == 0 { // embedded
				if ast.IsExported(strings.TrimLeft(typ[strings.LastIndexByte(typ, '.')+1:], "*")) {
					l.add("type %s struct, embedded %s", name, typ)
				}
				continue
			}
			for _, n := range f.Names {
				if n.IsExported() {
					l.add("type %s struct, %s %s", name, n.Name, typ)
				}
			}
		}
	case *ast.InterfaceType:
		l.add("type %s interface", name)
		for _, m := range t.Methods.List {
			if len(m.Names) == 0 {
				l.add("type %s interface, embedded %s", name, expr(m.Type))
				continue
			}
			for _, n := range m.Names {
				if n.IsExported() {
					if ft, ok := m.Type.(*ast.FuncType); ok {
						l.add("type %s interface, %s%s", name, n.Name, signature(ft))
					}
				}
			}
		}
	default:
		l.add("type %s %s", name, expr(s.Type))
	}
}

// signature prints a function type's parameters and results without their
// names.
func signature(f *ast.FuncType) string {
	s := fieldList(f.Params, "(", ")", false)
	if f.Results != nil && len(f.Results.List) > 0 {
		r := fieldList(f.Results, "(", ")", false)
		if len(f.Results.List) == 1 && len(f.Results.List[0].Names) <= 1 {
			r = strings.TrimSuffix(strings.TrimPrefix(r, "("), ")")
		}
		s += " " + r
	}
	return s
}

// fieldList prints a parameter, result or type parameter list, with the
// names only for type parameters (their constraints need them).
func fieldList(fl *ast.FieldList, open, close string, names bool) string {
	var parts []string
	if fl != nil {
		for _, f := range fl.List {
			t := expr(f.Type)
			n := max(len(f.Names), 1)
			for i := range n {
				if names && len(f.Names) > 0 {
					parts = append(parts, f.Names[i].Name+" "+t)
				} else {
					parts = append(parts, t)
				}
			}
		}
	}
	return open + strings.Join(parts, ", ") + close
}

// expr prints an expression on one line.
func expr(e ast.Expr) string {
	if f, ok := e.(*ast.FuncType); ok {
		return "func" + signature(f)
	}
	var b bytes.Buffer
	_ = printer.Fprint(&b, token.NewFileSet(), e)
	return strings.Join(strings.Fields(b.String()), " ")
}

// ReadListing reads a committed listing.
func ReadListing(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	return lines, nil
}

// Diff returns the lines only in want (removed from the code) and only in
// got (added to the code).
func Diff(want, got []string) (removed, added []string) {
	w := make(map[string]bool, len(want))
	for _, l := range want {
		w[l] = true
	}
	g := make(map[string]bool, len(got))
	for _, l := range got {
		g[l] = true
		if !w[l] {
			added = append(added, l)
		}
	}
	for _, l := range want {
		if !g[l] {
			removed = append(removed, l)
		}
	}
	return removed, added
}

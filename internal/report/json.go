package report

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"
)

// WriteJSON writes d as indented JSON, the metrics file. NaN and ±Inf, which
// encoding/json rejects, are written as null; otherwise the output is what
// json.MarshalIndent(d, "", "  ") gives.
func WriteJSON(w io.Writer, d *Data) error {
	b, err := json.MarshalIndent(jsonSafe(reflect.ValueOf(d)), "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// jsonSafe mirrors v as values encoding/json accepts, with non-finite floats
// as nil. Structs become a jsonObject so that field order and the json tags'
// names and omitempty are kept. It covers the kinds Data is made of; other
// kinds are passed through unchanged.
func jsonSafe(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return jsonSafe(v.Elem())
	case reflect.Float32:
		if f := v.Float(); finite(f) {
			return float32(f) // keeps float32's shortest formatting
		}
		return nil
	case reflect.Float64:
		if f := v.Float(); finite(f) {
			return f
		}
		return nil
	case reflect.Slice:
		if v.IsNil() {
			return nil
		}
		fallthrough
	case reflect.Array:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = jsonSafe(v.Index(i))
		}
		return out
	case reflect.Struct:
		if m, ok := v.Interface().(json.Marshaler); ok {
			return m // time.Time
		}
		var obj jsonObject
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			fv := v.Field(i)
			if strings.Contains(","+opts+",", ",omitempty,") && isEmptyJSON(fv) {
				continue
			}
			obj = append(obj, jsonField{name, jsonSafe(fv)})
		}
		return obj
	}
	return v.Interface()
}

// isEmptyJSON is encoding/json's omitempty test.
func isEmptyJSON(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64,
		reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

type jsonField struct {
	name  string
	value any
}

// jsonObject is a JSON object that keeps its fields in order.
type jsonObject []jsonField

func (o jsonObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(f.name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(f.value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

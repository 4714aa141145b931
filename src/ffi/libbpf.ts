/**
 * The libbpf functions tcptools calls (libbpf 1.x ABI).
 *
 * @module
 */

/** Symbol table; each entry's C declaration is in its comment. */
export const libbpfSymbols = {
  /** libbpf_print_fn_t libbpf_set_print(libbpf_print_fn_t fn); */
  libbpf_set_print: { parameters: ["pointer"], result: "pointer" },
  /** int libbpf_probe_bpf_helper(enum bpf_prog_type prog_type, enum bpf_func_id helper_id,
   *                             const void *opts); 1: available, 0: not, < 0: -errno */
  libbpf_probe_bpf_helper: { parameters: ["i32", "i32", "pointer"], result: "i32" },
  /** int libbpf_num_possible_cpus(void); */
  libbpf_num_possible_cpus: { parameters: [], result: "i32" },
  /** struct bpf_program *bpf_object__next_program(const struct bpf_object *obj,
   *                                               struct bpf_program *prog); */
  bpf_object__next_program: { parameters: ["pointer", "pointer"], result: "pointer" },
  /** const char *bpf_program__name(const struct bpf_program *prog); */
  bpf_program__name: { parameters: ["pointer"], result: "pointer" },
  /** struct bpf_object *bpf_object__open_mem(const void *obj_buf, size_t obj_buf_sz,
   *                                         const struct bpf_object_open_opts *opts); */
  bpf_object__open_mem: {
    parameters: ["buffer", "usize", "buffer"],
    result: "pointer",
  },
  /** int bpf_object__load(struct bpf_object *obj); */
  bpf_object__load: { parameters: ["pointer"], result: "i32" },
  /** void bpf_object__close(struct bpf_object *obj); */
  bpf_object__close: { parameters: ["pointer"], result: "void" },
  /** struct bpf_map *bpf_object__find_map_by_name(const struct bpf_object *obj, const char *name); */
  bpf_object__find_map_by_name: {
    parameters: ["pointer", "buffer"],
    result: "pointer",
  },
  /** struct bpf_program *bpf_object__find_program_by_name(const struct bpf_object *obj,
   *                                                       const char *name); */
  bpf_object__find_program_by_name: {
    parameters: ["pointer", "buffer"],
    result: "pointer",
  },
  /** int bpf_program__set_autoload(struct bpf_program *prog, bool autoload); */
  bpf_program__set_autoload: { parameters: ["pointer", "bool"], result: "i32" },
  /** int bpf_program__fd(const struct bpf_program *prog); */
  bpf_program__fd: { parameters: ["pointer"], result: "i32" },
  /** const char *bpf_program__section_name(const struct bpf_program *prog); */
  bpf_program__section_name: { parameters: ["pointer"], result: "pointer" },
  /** bool bpf_program__autoload(const struct bpf_program *prog); */
  bpf_program__autoload: { parameters: ["pointer"], result: "bool" },
  /** enum bpf_prog_type bpf_program__type(const struct bpf_program *prog); */
  bpf_program__type: { parameters: ["pointer"], result: "i32" },
  /** struct bpf_link *bpf_program__attach(const struct bpf_program *prog); */
  bpf_program__attach: { parameters: ["pointer"], result: "pointer" },
  /** struct bpf_link *bpf_program__attach_cgroup(const struct bpf_program *prog, int cgroup_fd); */
  bpf_program__attach_cgroup: { parameters: ["pointer", "i32"], result: "pointer" },
  /** struct bpf_link *bpf_program__attach_perf_event(const struct bpf_program *prog, int pfd);
   * On success the link owns pfd (closes it when destroyed); on failure the caller does. */
  bpf_program__attach_perf_event: { parameters: ["pointer", "i32"], result: "pointer" },
  /** int bpf_link__destroy(struct bpf_link *link); */
  bpf_link__destroy: { parameters: ["pointer"], result: "i32" },
  /** int bpf_obj_get(const char *pathname); a pinned object's new descriptor, or -errno */
  bpf_obj_get: { parameters: ["buffer"], result: "i32" },
  /** int bpf_obj_get_info_by_fd(int bpf_fd, void *info, __u32 *info_len); */
  bpf_obj_get_info_by_fd: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  /** int bpf_map__reuse_fd(struct bpf_map *map, int fd); (dups fd; before load) */
  bpf_map__reuse_fd: { parameters: ["pointer", "i32"], result: "i32" },
  /** int bpf_map__fd(const struct bpf_map *map); */
  bpf_map__fd: { parameters: ["pointer"], result: "i32" },
  /** __u32 bpf_map__key_size(const struct bpf_map *map); */
  bpf_map__key_size: { parameters: ["pointer"], result: "u32" },
  /** __u32 bpf_map__value_size(const struct bpf_map *map); */
  bpf_map__value_size: { parameters: ["pointer"], result: "u32" },
  /** int bpf_map__set_max_entries(struct bpf_map *map, __u32 max_entries); */
  bpf_map__set_max_entries: { parameters: ["pointer", "u32"], result: "i32" },
  /** void *bpf_map__initial_value(struct bpf_map *map, size_t *psize); */
  bpf_map__initial_value: { parameters: ["pointer", "buffer"], result: "pointer" },
  /** int bpf_map__update_elem(const struct bpf_map *map, const void *key, size_t key_sz,
   *                          const void *value, size_t value_sz, __u64 flags); */
  bpf_map__update_elem: {
    parameters: ["pointer", "buffer", "usize", "buffer", "usize", "u64"],
    result: "i32",
  },
  /** int bpf_map__lookup_elem(const struct bpf_map *map, const void *key, size_t key_sz,
   *                          void *value, size_t value_sz, __u64 flags); */
  bpf_map__lookup_elem: {
    parameters: ["pointer", "buffer", "usize", "buffer", "usize", "u64"],
    result: "i32",
  },
  /** int bpf_map__lookup_and_delete_elem(const struct bpf_map *map, const void *key,
   *                                     size_t key_sz, void *value, size_t value_sz,
   *                                     __u64 flags); */
  bpf_map__lookup_and_delete_elem: {
    parameters: ["pointer", "buffer", "usize", "buffer", "usize", "u64"],
    result: "i32",
  },
  /** int bpf_map__delete_elem(const struct bpf_map *map, const void *key, size_t key_sz,
   *                          __u64 flags); */
  bpf_map__delete_elem: { parameters: ["pointer", "buffer", "usize", "u64"], result: "i32" },
  /** int bpf_map__get_next_key(const struct bpf_map *map, const void *cur_key, void *next_key,
   *                           size_t key_sz); */
  bpf_map__get_next_key: {
    parameters: ["pointer", "buffer", "buffer", "usize"],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * struct bpf_object_open_opts (libbpf 1.x), up to and including
 * btf_custom_path: its size (the first field, size_t sz) and where the path
 * goes. libbpf takes a shorter struct than its own, never a longer one.
 */
export const OPEN_OPTS = { size: 56, btfCustomPath: 48 } as const;

/**
 * struct bpf_map_info (include/uapi/linux/bpf.h), the prefix tcptools
 * reads: u32 type, id, key_size, value_size, ... The kernel fills what fits.
 */
export const BPF_MAP_INFO = { size: 80, type: 0, keySize: 8 } as const;

/** The opened libbpf. */
export type Libbpf = Deno.DynamicLibrary<typeof libbpfSymbols>["symbols"];

/** typedef int (*libbpf_print_fn_t)(enum libbpf_print_level level, const char *, va_list ap); */
export const printCallbackDefinition = {
  parameters: ["i32", "pointer", "pointer"],
  result: "i32",
} as const satisfies Deno.UnsafeCallbackDefinition;

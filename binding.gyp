{
  "targets": [
    {
      "target_name": "gotorch_spawn",
      "sources": ["native/spawn.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["_GNU_SOURCE", "NAPI_VERSION=8"]
    },
    {
      "target_name": "gotorch_keeper",
      "type": "executable",
      "sources": ["native/keeper.c"],
      "cflags": ["-std=c11", "-Wall", "-Wextra"]
    }
  ]
}

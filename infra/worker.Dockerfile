# GPU worker, for hosts with Docker, an NVIDIA driver and the NVIDIA container toolkit. Build from the repository root:
#   docker build -f infra/worker.Dockerfile -t kimia/worker .
# It is built with the CUDA libtorch (-p:KimiAudioTorchBackend=cuda -> package libtorch-cuda-12.8-linux-x64 2.10.0). That
# package (several GB, split in parts) comes from the public NuGet feed; the feed mirrored on the dev/CI machines does NOT
# serve it, so this image cannot be built there. libtorch's CUDA package carries cuBLAS/cuDNN itself; the base image only
# has to match the CUDA 12.8 runtime and the host driver provides libcuda.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish workers/KimiAudio.Worker/KimiAudio.Worker.csproj -c Release -p:KimiAudioTorchBackend=cuda -o /app

# the ASP.NET Core runtime: the worker serves /health/* and /metrics with Kestrel (Worker__HttpPort, default 8080)
FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble AS dotnet

FROM nvidia/cuda:12.8.1-runtime-ubuntu24.04
# ffmpeg: the audio decoder's fallback for FLAC and other containers. The .NET runtime is copied from Microsoft's image
# (InvariantGlobalization is on, so no ICU is needed).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg ca-certificates libssl3t64 zlib1g \
 && rm -rf /var/lib/apt/lists/*
COPY --from=dotnet /usr/share/dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
ENV DOTNET_RUNNING_IN_CONTAINER=true
WORKDIR /app
COPY --from=build /app .
EXPOSE 8080
ENTRYPOINT ["dotnet", "KimiAudio.Worker.dll"]

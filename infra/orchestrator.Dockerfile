# Orchestrator (ASP.NET Core) plus the migrator, for hosts with Docker. Build from the repository root:
#   docker build -f infra/orchestrator.Dockerfile -t kimia/orchestrator .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish orchestrator/KimiAudio.Orchestrator/KimiAudio.Orchestrator.csproj -c Release -o /app \
 && dotnet publish migrations/KimiAudio.Migrator/KimiAudio.Migrator.csproj -c Release -o /app/migrator

FROM mcr.microsoft.com/dotnet/aspnet:10.0
# ffmpeg: the results browser decodes FLAC, Opus, M4A and other non-WAV/MP3/Vorbis inputs with it to draw waveforms
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app .
ENV ASPNETCORE_HTTP_PORTS=8080
EXPOSE 8080
USER app
ENTRYPOINT ["dotnet", "KimiAudio.Orchestrator.dll"]

/** The replies the scripted provider plays: `Resume` values (baml_src/resume.baml) of a chosen size. */

export const resume = (skills: number, jobs = 2) => ({
  name: "Ada Lovelace",
  email: "ada.lovelace@example.com",
  skills: Array.from({ length: skills }, (_, i) => `skill number ${i}`),
  experience: Array.from({ length: jobs }, (_, i) => ({
    company: `Analytical Engines Ltd, branch ${i}`,
    title: i % 2 === 0 ? "Programmer" : "Correspondent of the Royal Society",
    years: 1 + (i % 9)
  }))
})

/** About 80 KB as pretty-printed JSON: the large-object case of the design. */
export const largeResume = () => resume(1000, 440)
